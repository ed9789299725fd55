"""Audio in: decoding song files (`load`) and the one STFT all analysis reads (`spectral`)."""
