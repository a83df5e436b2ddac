"""memp: procedural memory for LLM agents (library layer; never imports ray)."""

import os

# litellm otherwise downloads its model cost map at import time; we run offline by default.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
