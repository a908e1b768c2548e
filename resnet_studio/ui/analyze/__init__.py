"""The Analyses feature: the Analyze menu, its option dialogs, the worker thread the analyses
run on and the dock that shows their results (signal propagation, lesion study, loss
landscape, explaining an image). The numbers come from ``resnet_studio.analysis``."""
