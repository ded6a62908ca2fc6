"""Revenue by zone: KMeans zones from reference pickups, every ride of the lake assigned (see README.md)."""
