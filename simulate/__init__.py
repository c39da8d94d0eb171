"""A living demo and the floor benchmark: simulated collectors, supervisors and debtors
driving a running Recoup through its public API and sockets only (no database access).

``recoup simulate`` runs it against the demo tenant; ``bench/floor.py`` measures with it.
"""
