"""The index as data (``data/*.yaml``, validated by ``loader``), the pure scoring engine
(``engine``), and the services that score a school's live inventory (``services``)."""
