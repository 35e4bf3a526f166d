"""Reports people look at: plots and tables."""

from .raster import raster_png

__all__ = ["raster_png"]
