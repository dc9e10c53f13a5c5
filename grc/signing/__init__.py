"""Signing keys of certification bodies (V1): Ed25519 keys sealed at rest, rotation, the published JWKS."""
