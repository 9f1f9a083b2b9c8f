"""The text pipeline: decode bytes, clean lines, segment sentences, build the sentence table."""
