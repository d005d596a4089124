"""The scene the proxy pipeline tests run in: project "Cut" open in the simulated Resolve,
its timeline "Edit 1" using three clips of the clip set, proxies going under a proxy root."""

from _rexsim import state

DB = "Local Database"


def open_cut(sim, media, proxy_root):
    """(the environment for the commands, the clips' media pool ids)."""
    state.add_project(DB, (), "Cut", sample=False)
    ids = [state.add_media_clip(DB, (), "Cut", media[k]) for k in ("a2398", "b25", "c2997")]
    state.add_timeline(DB, (), "Cut", "Edit 1", video=ids)
    state.set_current(DB, (), "Cut")
    return dict(sim, REX_PROXY_ROOT=str(proxy_root)), ids
