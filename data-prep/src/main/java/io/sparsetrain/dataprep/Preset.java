package io.sparsetrain.dataprep;

import java.util.List;
import java.util.Locale;

/** Well-known datasets' class names, in label-index order ({@code --preset}). */
public enum Preset {
  FASHION_MNIST("fashion-mnist", List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
      "Shirt", "Sneaker", "Bag", "Ankle boot")),
  MNIST("mnist", List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")),
  CIFAR10("cifar10", List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
      "truck")),
  CIFAR100("cifar100", List.of("apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
      "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar",
      "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup",
      "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo",
      "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
      "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
      "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray",
      "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
      "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television",
      "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf",
      "woman", "worm"));

  private final String cliName;
  private final List<String> classNames;

  Preset(String cliName, List<String> classNames) {
    this.cliName = cliName;
    this.classNames = classNames;
  }

  public String cliName() {
    return cliName;
  }

  public List<String> classNames() {
    return classNames;
  }

  public static Preset parse(String s) {
    for (Preset p : values()) {
      if (p.cliName.equalsIgnoreCase(s == null ? "" : s.trim().toLowerCase(Locale.ROOT))) {
        return p;
      }
    }
    throw new DataPrepException("--preset must be one of fashion-mnist|mnist|cifar10|cifar100, got '" + s + "'");
  }
}
