"""TravelPlanner (Xie et al. 2024) as a built-in tool-use environment over a sandbox database."""
