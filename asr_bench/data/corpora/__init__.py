"""Corpus preparation: one shared layer (records.py: candidates, checks, skip reasons, manifests and
summaries; hf.py and kaldi.py: Hugging Face copies and Kaldi data directories) and one thin module per
corpus that only walks its layout. registry.py finds every corpus module's CORPUS for `asr-bench prepare`."""
