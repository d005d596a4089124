"""Media: facts about clips (ffprobe, the config-aware prober), frame rates, proxy presets,
layout, encodes, progress."""
