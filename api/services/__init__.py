"""What the routes call: auth, uploads, content, queries, the log relay, readiness."""
