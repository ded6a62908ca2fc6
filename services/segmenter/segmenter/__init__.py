"""The trajectory segmenter: builds MobilityDB trajectories from vehicle_points, off the write path."""
