"""Where the images come from: CIFAR-10's airplanes and birds decoded from any supported layout (and cached), the
small datasets the grader writes itself, and where the data and the cache live."""
