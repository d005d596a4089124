"""The simulated DaVinci Resolve behind tests/resolve_sim/Modules/DaVinciResolveScript.py.

store: the shared JSON state; library: its data model; base: Resolve-like attribute
behaviour; app/project: the API objects; drp: .drp files; proxy: proxy-link rules;
state (and ``python -m _rexsim``): helpers for tests to arrange a scene.
"""
