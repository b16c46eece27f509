"""The dnf adapter: which repositories, their metadata checked and loaded, solves as plain data
(``closure``), facts kept between runs under the repomd digest."""
