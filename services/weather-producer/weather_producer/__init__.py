"""weather-producer: Visual Crossing observations (or a realistic simulation) to ``weather_data_v2``."""
