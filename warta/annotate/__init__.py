"""Growing the labelled corpus: choose sentences, export to Label Studio / CSV, import labels,
measure inter-annotator agreement, and audit gold labels with out-of-fold predictions.

Modules: `select` (uncertainty × diversity × outlet balance), `labelstudio`
(labelling config, tasks, CSV), `batch` (the select command end to end),
`imports` (Label Studio JSON export / CSV -> label records), `agreement`
(Krippendorff's α, Cohen's κ), `audit` (cleanlab on cv/oof.jsonl).
"""
