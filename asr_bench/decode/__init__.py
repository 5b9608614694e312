"""CTC decoding: greedy, and lexicon + KenLM beam search; LM building and LM-weight tuning."""
