"""Site overrides on the shipped tree (reading, applying, their effect on selections, the diff they
make) and importing another builder's customisations (Kolla template overrides, TCIB files) as overrides."""
