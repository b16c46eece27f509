"""Reports of a plan: Markdown, the tree as a picture, and Kolla's and TCIB's lists on the same metadata."""
