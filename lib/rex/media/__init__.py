"""Media: facts about clips (ffprobe), proxy presets and layout (pure), and encodes (ffmpeg)."""
