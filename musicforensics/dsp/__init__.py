"""Signal processing: streamed spectra, hulls and peaks. Numba lives only in :mod:`._kernels`."""
