"""The photo's motion: what the user gave, spread into dense fields, lifted into 3D, carried into every view, fitted
(3D-MOM) and traced into the paths the loop follows."""
