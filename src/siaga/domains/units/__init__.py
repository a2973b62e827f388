"""Response units (fire engines, ambulances, boats, patrols) and their status machine."""
