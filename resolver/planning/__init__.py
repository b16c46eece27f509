"""Stage 4, planning: the layers of the whole tree. ``treeplan`` gathers the resolved sets and is the
stage's entry; ``tree``, ``search`` and ``budget`` are pure (which intermediate layers, where each
package goes under a bloat budget); ``plan`` turns a tree into each image's own layer."""
