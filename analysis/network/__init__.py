"""Road networks and shortest paths: road graphs (OSM, PBF, line layers), per-mode edge
arrays, Dijkstra, the contraction hierarchy and its background worker, the graph cache,
straight-line detours and trips inside one commune. Read by ``analysis.traveltime``.
"""
