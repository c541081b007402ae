"""Tinct's engine: photo I/O, Lab colour, models and the colorizer.

Importing ``core`` is cheap: Keras/TensorFlow load only when a model is
first needed, so the GUI can show its window first. ``core`` never imports Qt.
"""
