"""Reading audio: container facts, streamed blocks, excerpts (libsndfile, and ffmpeg for MP4/WMA/WebM/MKA),
and the one safe writer for every file the tool creates."""
