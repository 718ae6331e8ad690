"""dxmon's shared package: the pure domain core, schemas, settings and thin I/O adapters."""
