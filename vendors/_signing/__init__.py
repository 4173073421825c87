"""Request signers for the vendors' APIs; the public names are re-exported by `vendors.signing`."""
