"""Stage 1, inputs: what the user and upstream give, read and checked (images/, profiles/, upstream
bindep files and where they come from, the target platform). Errors name the file and line."""
