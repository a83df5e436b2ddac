"""memp's tests. Importing pipeline first sets litellm's offline environment (pipeline/__init__.py)
before any test module imports litellm itself."""

import pipeline  # noqa: F401
