"""LightningModules and DataModules: wav2vec pretraining and CTC acoustic-model training."""
