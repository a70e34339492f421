"""HTTP shell over the pipeline: /ask, /documents, /health and the chat page."""
