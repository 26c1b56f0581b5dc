"""HTTP clients of outside services. No Flask, no models, nothing of ours imported."""
