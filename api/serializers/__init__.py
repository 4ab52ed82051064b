"""Input and output serializers of the partner API, one module per area."""
