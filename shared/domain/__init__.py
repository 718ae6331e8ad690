"""The pure domain core: catalog, hierarchy, event schema, rollup math, trajectories. No I/O imports here."""
