"""Pure planning: which intermediate layers an image set should have (``tree``) and where each
item goes under a bloat budget (``budget``). Items are plain names with sizes (RPMs today, Python
wheels later); nothing here knows dnf."""
