"""memp: procedural memory for LLM agents (library layer; never imports ray)."""

import os

# The one place memp sets litellm's environment: it runs before any pipeline module imports
# litellm, which otherwise downloads its model cost map at import time (we run offline).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
