"""The test Pro Santé Connect provider (server.js) and its Python harness."""
