"""citewire's evaluation harness (`citewire eval`).

Modules, one concept each:
    metrics   pure scoring functions (normalization, F1, hit@k, citation precision/recall, abstention)
    loaders   the suites: seed, jsonl, realtimeqa, clapnq -> questions with gold + the corpus to ingest
    stores    eval stores keyed by corpus hash and ingest settings (built once, reused)
    systems   the engines under test behind `predict(item) -> Prediction` (citewire)
    baseline  stock LlamaIndex (VectorStoreIndex over Chroma + CitationQueryEngine) as a system
    scoring   per-question scores and the per-engine summary
    runner    runs a suite against engines and writes the report
    report    results.json and report.md;  plots: the PNG plots
    cli       `add_arguments(parser)` and `run(args, settings)` for the main CLI

Example:
    citewire eval seed --compare
"""
