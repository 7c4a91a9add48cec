"""The runtime image's builders: `runtime/Dockerfile` (with a registry) and `runtime/build_offline.py`
(without one), whose steps live in `runtime.offline`."""
