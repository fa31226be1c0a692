"""Starts `gcp-storage-emulator` for tests/test_gcs.py, plus the one header TensorStore needs.

    python -m tests.gcs_emulator start --host 127.0.0.1 --port PORT --in-memory ...

The emulator's media download (`GET .../o/NAME?alt=media`) omits `x-goog-generation`, the
header real GCS sends with every object's bytes. TensorStore's `gcs` driver reads an object's
generation from it (OCDBT, Orbax's checkpoint format, rewrites its manifest conditionally on
that generation) and fails with "Malformed StorageGeneration" without it. The wrapper below
adds the header from the object's own metadata; nothing else about the emulator changes.
"""

from __future__ import annotations

import sys

from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects

_download = objects.download


def _download_with_generation(request, response, storage, *args, **kwargs):
    _download(request, response, storage, *args, **kwargs)
    try:
        obj = storage.get_file_obj(request.params["bucket_name"], request.params["object_id"])
    except NotFound:
        return
    response["x-goog-generation"] = str(obj["generation"])


objects.download = _download_with_generation  # before the server module builds its routes

from gcp_storage_emulator.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
