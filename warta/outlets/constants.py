"""Outlet-profile constants: confidence, pair statistics, label indices, method notes."""




from warta.schema import LAYERS

ALL = "ALL"
CONFIDENCE = 0.95
ALPHA = 1.0 - CONFIDENCE
STANCE_SUBSETS = ("all", "own_voice", "quoted")
USES = ("labels", "probs")
# Pairwise statistics, in report order: (key, layer or subset, kind).
PAIR_STATS = (
    ("type_js", "type", "js"),
    ("frame_js", "frame", "js"),
    ("stance_index_all", "all", "index"),
    ("stance_index_own_voice", "own_voice", "index"),
    ("stance_index_quoted", "quoted", "index"),
)
PAIR_STAT_WORDS = {
    "type_js": "type mix",
    "frame_js": "frame mix",
    "stance_index_all": "stance (all sentences)",
    "stance_index_own_voice": "stance (own voice)",
    "stance_index_quoted": "stance (quoted sources)",
}
INTERVAL_METHOD = (
    "95% interval = the wider of an article-cluster bootstrap percentile interval "
    "(articles resampled with replacement within the outlet) and a sentence-level interval "
    "treating sentences as independent (Jeffreys for shares, Dirichlet(counts+1/2) for the stance index)"
)
PAIR_METHOD = (
    "pooled-article bootstrap test of 'same outlet' (both outlets' articles pooled, each outlet's "
    "article count redrawn from the pool); p = (1 + #null >= observed) / (1 + #null); "
    "'differs' when the Bonferroni-adjusted p (times the number of outlet pairs compared on that measure) < 0.05; "
    "'noise' = the null's 1 - 0.05/pairs quantile"
)
_QUOTE = LAYERS["type"].index("quote")
_PRO = LAYERS["stance"].index("pro")
_AGAINST = LAYERS["stance"].index("against")
# Matrices kept per article: the three layers plus stance split by voice.
_PARTS = ("type", "stance", "frame", "own", "quoted")
# Bound on the (replicates x articles) weight matrix held at once.
_CHUNK_CELLS = 4_000_000
