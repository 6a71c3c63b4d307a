"""Autograder for the MLP backpropagation / SGD assignment (CIFAR-10 airplane vs bird)."""
__version__ = "0.1.0"
