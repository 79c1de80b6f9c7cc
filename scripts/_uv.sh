# Sourced by the other scripts: puts uv on PATH, installing it with pip if it is missing.
if ! command -v uv >/dev/null 2>&1; then
  export PATH="$HOME/.local/bin:$PATH"
  if ! command -v uv >/dev/null 2>&1; then
    echo "Installing uv (Python package manager) with pip..."
    python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  fi
fi
export UV_LINK_MODE="${UV_LINK_MODE:-copy}"
