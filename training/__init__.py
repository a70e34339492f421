"""The reader's training, export and calibration tools: run by `qa train-reader` etc.; the answering core never imports them."""
