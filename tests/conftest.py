"""Suite-wide settings: reproducible property tests."""

from hypothesis import settings

# Property tests draw the same examples on every run and machine (a failure reproduces; the
# mutation run sees a fixed test suite) and keep no example database in the work tree.
settings.register_profile("mathft", derandomize=True, database=None, deadline=None)
settings.load_profile("mathft")
